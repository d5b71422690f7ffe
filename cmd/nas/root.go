package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes. Usage errors (bad flags, unknown names, impossible shapes) exit 2.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks an error caused by how nas was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error with a formatted message.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "nas",
		Short: "Neural architecture search over grouped convolutions",
		Long: `nas searches a space of channel-grouping strategies (group counts, kernel mixes,
octave splits, interleaving, block families, width, depth) for the networks that trade
accuracy against MACs best under a budget. It prices each candidate at the deployment
shape, trains a proxy-sized version on the CPU and keeps every run in SQLite.`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newVersionCmd(stdout),
		newRunsCmd(stdout),
		newBestCmd(stdout),
		newQueryCmd(stdout),
		newZooCmd(stdout),
		newTrainCmd(stdout, stderr),
		newBenchCmd(stdout, stderr),
		newShowCmd(stdout),
		newRunCmd(stdout, stderr),
		newResumeCmd(stdout, stderr),
		newExportCmd(stdout, stderr),
		newPlotCmd(stdout, stderr),
		newCompareCmd(stdout, stderr),
	)
	return root
}

// run executes nas with args and returns the exit code. It is the one place where
// errors become exit codes and messages.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "nas: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		if cmd != nil {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
		return exitUsage
	}
	return exitFailure
}

// isCobraUsage reports whether err is one of cobra's own argument errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// version returns the module version nas was built from, or "devel".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// threads returns how many cores nas computes on.
func threads() int { return runtime.GOMAXPROCS(0) }
