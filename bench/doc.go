// Package bench holds Gatehouse's benchmarks (go test -bench), run side by side with
// peer servers where an issue names one. Results go to docs/benchmarks.md; nothing
// here is a timed assertion.
package bench
