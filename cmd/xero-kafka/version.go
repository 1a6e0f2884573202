package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=..." (the Dockerfile does);
// a plain `go build` in a git checkout finds the commit in the build information instead.
var (
	version = "dev"
	commit  = ""
)

// buildInfo is what `xero-kafka version` prints.
type buildInfo struct {
	Version, Commit, GoVersion string
	Modified                   bool
}

func readBuildInfo() buildInfo {
	bi := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if bi.Commit == "" {
					bi.Commit = s.Value
				}
			case "vcs.modified":
				bi.Modified = s.Value == "true"
			}
		}
		if bi.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			bi.Version = info.Main.Version
		}
	}
	if bi.Commit == "" {
		bi.Commit = "unknown"
	}
	return bi
}

// printVersion is `xero-kafka version`.
func printVersion(w io.Writer) {
	bi := readBuildInfo()
	modified := ""
	if bi.Modified {
		modified = " (modified)"
	}
	fmt.Fprintf(w, "xero-kafka %s\ncommit     %s%s\ngo         %s %s/%s\n",
		bi.Version, bi.Commit, modified, bi.GoVersion, runtime.GOOS, runtime.GOARCH)
}
