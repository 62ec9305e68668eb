//go:build !linux

package main

// followGoRun is only needed (and possible) on Linux.
func followGoRun() {}
