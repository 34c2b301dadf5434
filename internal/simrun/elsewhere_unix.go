//go:build unix

package simrun

import "syscall"

// ownProcessGroup starts a child in a process group of its own, out of reach of the signals a
// terminal sends to the foreground group: its parent passes each one on instead.
func ownProcessGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
