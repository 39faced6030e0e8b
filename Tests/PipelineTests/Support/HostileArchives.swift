import Testing

/// A failure told in one line on stderr, naming what failed, with `status`.
func expectOneLineError(_ r: ShellResult, tool: String, containing: String? = nil, status: Int32 = 65, _ what: String) {
    #expect(r.status == status, "\(what): status \(r.status), stderr \(r.stderr)")
    #expect(r.stderrLines.count == 1, "\(what): \(r.stderr)")
    #expect(r.stderr.hasPrefix("\(tool): error: "), "\(what): \(r.stderr)")
    if let c = containing { #expect(r.stderr.contains(c), "\(what): \(r.stderr)") }
}

/// Makes a pax archive with Python's tarfile (not our writer), wraps it
/// in a valid seed stream and extracts it into out/.
func extractHostile(_ s: Scratch, _ members: String) throws -> ShellResult {
    let py = """
        import tarfile, io, sys
        t = tarfile.open('evil.tar', 'w', format=tarfile.PAX_FORMAT)
        def file(name, data=b'pwned\\n'):
            i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
        def link(name, target, kind):
            i = tarfile.TarInfo(name); i.type = kind; i.linkname = target; t.addfile(i)
        \(members)
        t.close()
        """
    try s.write("evil.py", Array(py.utf8))
    let made = try s.sh("mkdir -p outside && echo original > outside/target && python3 evil.py")
    #expect(made.status == 0, "\(made.stderr)")
    try StreamSurgery.wrapArchive(try s.read("evil.tar"), into: s.path("evil.seed"))
    return try s.sh("seed-snapshot -x out evil.seed")
}
