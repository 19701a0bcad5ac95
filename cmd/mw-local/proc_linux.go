package main

import "syscall"

// procAttr makes RIE die with mw-local, even when mw-local is killed.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
