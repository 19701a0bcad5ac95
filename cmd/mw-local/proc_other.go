//go:build !linux

package main

import "syscall"

// procAttr: RIE runs on Linux only; elsewhere mw-local stops before it.
func procAttr() *syscall.SysProcAttr { return nil }
