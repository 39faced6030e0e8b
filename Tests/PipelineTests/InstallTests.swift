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
        for example in ["Makefile", "seed-share", "systemd/seed-window@.service", "systemd/seed-window@.timer"] {
            #expect(try s.sh("test -s '\(usr)/share/seed/examples/\(example)'").status == 0, "\(example)")
        }
        #expect(try s.sh("test -x '\(usr)/share/seed/examples/seed-share'").status == 0)
        for script in ["seed-window", "seed-plan", "seed-report"] {
            #expect(try s.sh("test -x '\(usr)/bin/\(script)'").status == 0, "\(script)")
            #expect(try s.sh("man -M '\(usr)/share/man' -w \(script)").stdout == "\(usr)/share/man/man1/\(script).1\n", "\(script)")
        }
        let u = try s.sh("\(make) uninstall && find root -type f")
        #expect(u.status == 0 && u.stdout == "", "\(u.stdout) \(u.stderr)")
    }

    @Test func theDebianPackageHoldsTheToolsPagesAndCompletionsAndDependsOnTheLibrariesTheyLink() throws {
        let s = try Scratch()
        let r = try s.sh("BUILT='\(toolsDir)' '\(Self.repo)/scripts/package-deb' out")
        #expect(r.status == 0, "\(r.stderr)")
        let deb = s.path("out/seed_0.1.0_\(try s.sh("dpkg --print-architecture").stdout.trimmingCharacters(in: .whitespacesAndNewlines)).deb")
        let contents = try s.sh("dpkg-deb -c '\(deb)'").stdout
        for t in Self.tools {
            for file in ["usr/bin/\(t)", "usr/share/man/man1/\(t).1.gz", "usr/share/bash-completion/completions/\(t)", "usr/share/zsh/site-functions/_\(t)"] {
                #expect(contents.contains("./\(file)\n"), "\(file)")
            }
        }
        for file in [
            "usr/share/man/man5/seed-stream.5.gz", "usr/share/man/man7/seed.7.gz", "usr/bin/seed-window", "usr/bin/seed-plan",
            "usr/share/man/man1/seed-window.1.gz", "usr/share/man/man1/seed-plan.1.gz", "usr/bin/seed-report",
            "usr/share/man/man1/seed-report.1.gz", "usr/share/seed/examples/Makefile", "usr/share/seed/examples/systemd/seed-window@.timer",
        ] {
            #expect(contents.contains("./\(file)\n"), "\(file)")
        }
        let depends = try s.sh("dpkg-deb -f '\(deb)' Depends").stdout
        for pkg in ["libarchive13 (>= ", "libzstd1 (>= ", "libisal2 (>= ", "libdeflate0 (>= ", "libblkid1 (>= ", "zlib1g (>= ", "libc6 (>= "] {
            #expect(depends.contains(pkg), "\(pkg) in \(depends)")
        }
        // Unpacked into a scratch root, the tools run and man finds the pages.
        let x = try s.sh("dpkg-deb -x '\(deb)' x && x/usr/bin/seed-snapshot --version && man -M x/usr/share/man -w seed-stream")
        #expect(x.stdout == "0.1.0\n\(s.path("x/usr/share/man/man5/seed-stream.5.gz"))\n", "\(x.stdout) \(x.stderr)")
    }
}
