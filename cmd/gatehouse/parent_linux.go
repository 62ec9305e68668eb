//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// followGoRun makes a server started by `go run` stop with it. `go run` does not pass
// SIGTERM on to the program it built: killed itself, it would leave the server running,
// holding its ports and the data directory's lock. When our parent is the go command,
// ask the kernel to send us SIGTERM when it exits, which starts the normal shutdown.
// Any other parent (a shell, systemd, nohup) is left alone.
func followGoRun() {
	ppid := os.Getppid()
	exe, err := os.Readlink("/proc/" + strconv.Itoa(ppid) + "/exe")
	if err != nil || filepath.Base(exe) != "go" {
		return
	}
	const prSetPdeathsig = 1
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetPdeathsig, uintptr(syscall.SIGTERM), 0); errno != 0 {
		return
	}
	// The parent may have died before the request took effect.
	if os.Getppid() != ppid {
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
}
