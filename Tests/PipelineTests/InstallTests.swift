import Foundation
import Testing

/// `make install` and `make uninstall`, into a scratch DESTDIR.
@Suite struct InstallTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let tools = ["seed-snapshot", "seed-compress", "seed-split", "seed-encrypt", "seed-journal", "seed-writeblk"]

    @Test func makeInstallPutsEveryFileInPlaceAndUninstallTakesThemAway() throws {
        let s = try Scratch()
        let make = "make -s -C '\(Self.repo)' BUILT='\(toolsDir)' DESTDIR='\(s.path("root"))' PREFIX=/usr/local"
        let r = try s.sh("\(make) install")
        #expect(r.status == 0, "\(r.stderr)")
        let usr = s.path("root/usr/local")
        for t in Self.tools {
            #expect(try s.sh("'\(usr)/bin/\(t)' --version").stdout == "0.1.0\n", "\(t)")
            #expect(try s.sh("man -M '\(usr)/share/man' -w \(t)").stdout == "\(usr)/share/man/man1/\(t).1\n", "\(t)")
            // The completions load: bash knows the command after sourcing them.
            let complete = try s.sh("bash -c \"source '\(usr)/share/bash-completion/completions/\(t)' && complete -p \(t)\"")
            #expect(complete.stdout.hasSuffix(" \(t)\n"), "\(t): \(complete.stdout) \(complete.stderr)")
            #expect(try s.sh("grep -q '#compdef \(t)' '\(usr)/share/zsh/site-functions/_\(t)'").status == 0, "\(t)")
            #expect(try s.sh("test -s '\(usr)/share/fish/vendor_completions.d/\(t).fish'").status == 0, "\(t)")
        }
        for (page, section) in [("seed-stream", 5), ("seed-journal", 5), ("seed", 7)] {
            #expect(try s.sh("man -M '\(usr)/share/man' -w \(section) \(page)").stdout == "\(usr)/share/man/man\(section)/\(page).\(section)\n")
        }
        for script in ["seed-window", "seed-plan"] { #expect(try s.sh("test -x '\(usr)/bin/\(script)'").status == 0, "\(script)") }
        let u = try s.sh("\(make) uninstall && find root -type f")
        #expect(u.status == 0 && u.stdout == "", "\(u.stdout) \(u.stderr)")
    }
}
