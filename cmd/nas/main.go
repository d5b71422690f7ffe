// Command nas searches for efficient grouped convolutional networks under a MACs
// budget, trains proxy versions of them on the CPU and keeps every run in SQLite.
//
// It wires the packages ops, space, evaluate, search and store together; see README.md.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
