package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// adoptOrphans makes this process the reaper of its descendants: a process
// whose parent exits before it (a function RIE left behind) becomes a
// child of the test, where leftRunning finds it.
func adoptOrphans() {
	const prSetChildSubreaper = 36
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
}

// leftRunning returns the children of this process still running (not
// zombies), waiting up to 2 s for those that are ending; it kills them.
func leftRunning() []string {
	var left []string
	for deadline := time.Now().Add(2 * time.Second); ; {
		left = children()
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range left {
		if pid, err := strconv.Atoi(strings.Fields(c)[0]); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return left
}

// children lists this process's running children as "pid command".
func children() []string {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var found []string
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		s := string(data)
		end := strings.LastIndexByte(s, ')')
		if end < 0 {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 2 || f[0] == "Z" || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		found = append(found, fmt.Sprintf("%s %s", strings.Fields(s)[0], s[strings.IndexByte(s, '(')+1:end]))
	}
	return found
}
