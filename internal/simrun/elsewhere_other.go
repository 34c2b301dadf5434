//go:build !unix

package simrun

import "syscall"

// ownProcessGroup: process groups are a unix notion; elsewhere the child shares the parent's
// console, which signals both.
func ownProcessGroup() *syscall.SysProcAttr { return nil }
