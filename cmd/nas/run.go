package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"nas/evaluate"
	"nas/ops"
	"nas/search"
	"nas/space"
	"nas/store"
)

// The default search: sized to finish in under 20 minutes on a 2-core machine with
// over 100 evaluations (see README.md).
const (
	defaultPopulation  = 12
	defaultGenerations = 5
	defaultProxyWidth  = 0.25
	defaultTimeLimit   = 18 * time.Minute
	// defaultValSize scores accuracy to about 1 point (one standard error at 90%).
	defaultValSize = 1000
)

// defaultTrainSizes are the successive-halving rungs: every candidate trains on
// 2,048 images (64 steps), the better half again on 4,096 (128 steps). A first rung
// of 1,024 images (32 steps) left nearly every candidate at chance (mean validation
// accuracy 0.16 on 12 architectures whose mean after 8,192 images was 0.90), so it
// could not rank them; 2,048 ranked them with Spearman correlation 0.73 against
// 8,192, 4,096 with 0.88.
var defaultTrainSizes = []int{2048, 4096}

type runOptions struct {
	db        string
	name      string
	cfg       runConfig
	budget    space.Budget
	trainSize []int
	epochs    int
	width     float64
	timeLimit time.Duration
	families  []string
	groupings []string
	out       io.Writer
	errOut    io.Writer
}

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &runOptions{out: stdout, errOut: stderr, budget: 300_000_000}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Search for the best architectures under a MACs budget",
		Long: `Search the space of grouping strategies for the architectures that trade proxy
accuracy against MACs best, never exceeding the budget. Every candidate is priced at
the target shape (--input, --classes) and trained as a proxy on the dataset:
successive halving trains every new candidate on the first --train-sizes value of
images and the best --keep of them again on the next. Every evaluation is committed
to the results database as it finishes.

The budget accepts 300MFLOPs, 300M, 0.3GFLOPs, 300MMACs or 300000000 (MACs of
convolutions and linear layers, what the MobileNet and ShuffleNet papers call FLOPs).

The space can be widened, per stage: --families adds ScaleNet's scale aggregation
block (scalenet, or all); --groupings lets the grouped 1x1 convolutions of inverted
residual, IGC and ShuffleNet V1 stages be CondenseNet's learned group convolutions
(priced as their converted form) or dynamic group convolutions (priced at their
expected cost plus their saliency heads); --bits trains the stage's convolutions as
DSConv with low-bit weights, which changes the storage (STORAGE column), not the
MACs. The defaults are the space of earlier runs, drawn identically for a seed.

Progress goes to stderr; the final front to stdout. Ctrl-C stops cleanly, records
the evaluations in flight as interrupted and prints how to resume; a run killed in
any other way is resumed the same way.`,
		Example: `  nas run --budget 300MFLOPs
  nas run --budget 150M --strategy evolution --dataset fashion-mnist --seed 2
  nas run --budget 0.3GFLOPs --generations 20 --population 24 --time-limit 2h
  nas run --budget 300M --families all --groupings fixed,learned,dynamic --bits 32,8,4`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runRun(context.Background(), o)
		},
	}
	f := cmd.Flags()
	dbFlag(cmd, &o.db)
	f.StringVar(&o.name, "name", "", "name of the run (default run-ID)")
	f.Var(&o.budget, "budget", "MACs budget at the target shape, e.g. 300MFLOPs")
	f.StringVar(&o.cfg.Strategy, "strategy", "nsga2", "search strategy: nsga2, evolution (aging evolution) or random")
	f.IntVar(&o.cfg.Population, "population", defaultPopulation, "population size (new candidates per generation)")
	f.IntVar(&o.cfg.Generations, "generations", defaultGenerations, "generations after the initial population")
	f.IntVar(&o.cfg.Evaluations, "evaluations", 0, "stop after this many evaluations (0 for no cap)")
	f.Uint64Var(&o.cfg.Seed, "seed", 1, "seed of every random choice of the run")
	f.IntVar(&o.cfg.Workers, "workers", 0, "evaluations trained at once (default the number of cores)")
	f.StringVar(&o.cfg.Dataset, "dataset", "mnist", "proxy dataset: mnist, fashion-mnist, cifar10, idx or synthetic")
	f.StringVar(&o.cfg.DataDir, "data-dir", "", "folder of the dataset's files")
	f.IntVar(&o.cfg.ValSize, "val-size", defaultValSize, "validation images held out of the training set to score candidates")
	f.StringVar(&o.cfg.Target, "input", "224x224x3", "target (deployment) input shape HxWxC")
	f.IntVar(&o.cfg.Classes, "classes", 1000, "target number of classes")
	f.IntSliceVar(&o.trainSize, "train-sizes", defaultTrainSizes, "training images per successive-halving rung, lowest first")
	f.IntVar(&o.epochs, "epochs", 1, "epochs at every rung")
	f.Float64Var(&o.width, "proxy-width", defaultProxyWidth, "proxy width multiplier of the trained networks")
	f.Float64Var(&o.cfg.Keep, "keep", 0.5, "fraction of candidates promoted to the next rung")
	// Short proxy trainings of deep candidates need a gentler start than the
	// reference recipe: measured on MNIST proxies, lr 0.1 without warm-up left most
	// candidates at chance after 64 steps, lr 0.05 with 8 warm-up steps and label
	// smoothing 0.1 trained them to 74-82%.
	f.IntVar(&o.cfg.Recipe.BatchSize, "batch", 32, "training batch size")
	f.Float64Var(&o.cfg.Recipe.LR, "lr", 0.05, "peak learning rate")
	f.IntVar(&o.cfg.Recipe.WarmupSteps, "warmup", 8, "linear warm-up steps")
	f.Float64Var(&o.cfg.Recipe.LabelSmoothing, "label-smoothing", 0.1, "label smoothing")
	f.DurationVar(&o.timeLimit, "time-limit", defaultTimeLimit, "stop the search after this long (0 for no limit)")
	f.StringSliceVar(&o.families, "families", nil, "block families to search, or all: inverted_residual (required), "+
		"shufflenet_v1, shufflenet_v2, igc, fire, flattened, scalenet (default all but scalenet)")
	f.StringSliceVar(&o.groupings, "groupings", nil, "grouping modes of grouped 1x1 convolutions: fixed, learned "+
		"(CondenseNet), dynamic (DGC) (default fixed)")
	f.IntSliceVar(&o.cfg.Bits, "bits", nil, "weight bit widths of the stages' convolutions: 32 (float) or 2 to 8 (DSConv) (default 32)")
	return cmd
}

// searchConfig returns the search settings of a run configuration.
func (c *runConfig) searchConfig() (search.Config, error) {
	var st search.Strategy
	if err := st.UnmarshalText([]byte(c.Strategy)); err != nil {
		return search.Config{}, usageError{fmt.Errorf("--strategy: %w", err)}
	}
	sc := search.Config{Strategy: st, Population: c.Population, Generations: c.Generations,
		Evaluations: c.Evaluations, Seed: c.Seed, Workers: c.Workers, Keep: c.Keep}
	sc.Fidelities = c.Fidelities
	if c.TimeLimit != "" {
		d, err := time.ParseDuration(c.TimeLimit)
		if err != nil {
			return sc, err
		}
		sc.TimeLimit = d
	}
	return sc, nil
}

func runRun(ctx context.Context, o *runOptions) error {
	c := &o.cfg
	c.Budget = o.budget
	switch {
	case c.Population < 2:
		return usagef("--population %d: want at least 2", c.Population)
	case c.Generations == 0:
		// search.Config reads 0 as its own default, so it cannot mean "none" here.
		return usagef("--generations 0: want at least 1 (use --evaluations to stop after the initial population)")
	case c.Generations < 0 || c.Evaluations < 0 || c.Workers < 0:
		return usagef("--generations, --evaluations and --workers must not be negative")
	case o.epochs <= 0:
		return usagef("--epochs %d: must be positive", o.epochs)
	case !(o.width > 0):
		return usagef("--proxy-width %v: must be positive", o.width)
	case len(o.trainSize) == 0:
		return usagef("--train-sizes: give at least one size")
	case c.Keep <= 0 || c.Keep > 1:
		return usagef("--keep %v: want a fraction in (0, 1]", c.Keep)
	case c.ValSize < 0:
		return usagef("--val-size %d: must not be negative", c.ValSize)
	case o.timeLimit < 0:
		return usagef("--time-limit %v: must not be negative", o.timeLimit)
	}
	if c.ValSize == 0 {
		return usagef("--val-size 0: the search needs a validation split to score candidates")
	}
	for i, n := range o.trainSize {
		if n <= 0 || (i > 0 && n < o.trainSize[i-1]) {
			return usagef("--train-sizes %v: want positive sizes, lowest first", o.trainSize)
		}
		c.Fidelities = append(c.Fidelities, evaluate.Fidelity{TrainSize: n, Epochs: o.epochs, Width: o.width})
	}
	if _, err := c.target(); err != nil {
		return usagef("--input: %v", err)
	}
	if c.Classes < 2 {
		return usagef("--classes %d: want at least 2", c.Classes)
	}
	if o.timeLimit > 0 {
		c.TimeLimit = o.timeLimit.String()
	}
	if err := parseGenes(o); err != nil {
		return err
	}
	r := evaluate.ReferenceRecipe()
	r.BatchSize, r.LR, r.WarmupSteps, r.LabelSmoothing = c.Recipe.BatchSize, c.Recipe.LR, c.Recipe.WarmupSteps, c.Recipe.LabelSmoothing
	c.Recipe = r
	if _, err := c.searchConfig(); err != nil {
		return err
	}
	sp, err := c.space()
	if err != nil {
		// Every error of space.New is about the flags: the budget, the target, the
		// lists of families, grouping modes and bit widths.
		return usageError{err}
	}
	data, err := openDataset(c.Dataset, c.DataDir, c.ValSize, c.Seed)
	if err != nil {
		return err
	}
	db, err := store.Open(o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	cj, err := json.Marshal(c)
	if err != nil {
		return err
	}
	run := &store.Run{Name: o.name, Seed: int64(c.Seed), BudgetMACs: int64(c.Budget), Strategy: c.Strategy,
		Dataset: c.Dataset, Config: cj, Version: version()}
	if err := db.CreateRun(context.Background(), run); err != nil {
		return err
	}
	fmt.Fprintf(o.errOut, "run %s (id %d): %s under %s at %s, proxy on %s, database %s\n", run.Name, run.ID,
		c.Strategy, c.Budget, c.Target, c.Dataset, o.db)
	return searchRun(ctx, o.out, o.errOut, db, run, c, sp, data)
}

// parseGenes reads --families and --groupings into the run configuration; --bits is
// read directly, and space.New checks all three.
func parseGenes(o *runOptions) error {
	c := &o.cfg
	c.Families, c.Groupings = nil, nil
	for _, name := range o.families {
		if strings.EqualFold(name, "all") {
			if len(o.families) != 1 {
				return usagef("--families %s: all stands alone", strings.Join(o.families, ","))
			}
			c.Families = slices.Clone(space.AllFamilies)
			break
		}
		var f space.Family
		if err := f.UnmarshalText([]byte(name)); err != nil {
			return usagef("--families: %v", err)
		}
		c.Families = append(c.Families, f)
	}
	for _, name := range o.groupings {
		var m space.Grouping
		if err := m.UnmarshalText([]byte(name)); err != nil {
			return usagef("--groupings: %v", err)
		}
		c.Groupings = append(c.Groupings, m)
	}
	return nil
}

// searchRun runs (or resumes) the search of a stored run, recording everything in db,
// and prints the final front.
func searchRun(ctx context.Context, out, errOut io.Writer, db *store.DB, run *store.Run, c *runConfig,
	sp *space.Space, data evaluate.Dataset) error {
	sc, err := c.searchConfig()
	if err != nil {
		return err
	}
	// Every proxy builds a new network and trains it for seconds, and on this project's
	// virtual machine faulting its buffers in as huge pages cost about as much as they
	// saved, or more: 8-evaluation searches, alternated, took 38.6-41.7 s with them and
	// 35.1-39.7 s without (five each), and a later pair 36.4 and 38.6 s with, 36.4 and
	// 37.7 s without.
	defer ops.SetHugePages(ops.SetHugePages(false))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	prog := newProgress(errOut)
	sc.Progress = prog.update
	ev := &proxyEvaluator{p: &evaluate.Proxy{Space: sp, Data: data, Recipe: c.Recipe, Seed: c.Seed}}
	rec := newRecorder(db, run, c.Dataset)
	outcome, err := search.Run(ctx, sp, ev, rec, sc)
	prog.done()
	bg := context.Background()
	if err != nil {
		n, ierr := db.InterruptRunning(bg, run.ID)
		if ctx.Err() != nil {
			stopErr := db.SetRunStatus(bg, run.ID, store.RunInterrupted, "")
			fmt.Fprintf(errOut, "interrupted: %d evaluations in flight recorded as interrupted\nresume with: nas resume %s --db %s\n",
				n, run.Name, db.Path())
			return errors.Join(ierr, stopErr, errInterrupted)
		}
		return errors.Join(err, ierr, db.SetRunStatus(bg, run.ID, store.RunFailed, err.Error()))
	}
	if err := db.SetRunStatus(bg, run.ID, store.RunFinished, ""); err != nil {
		return err
	}
	fmt.Fprintf(errOut, "run %s finished: %d evaluations", run.Name, len(outcome.Evaluations))
	if outcome.Stopped != "" {
		fmt.Fprintf(errOut, " (stopped: %s)", outcome.Stopped)
	}
	fmt.Fprintln(errOut)
	t := table{header: []string{"ID", "ACCURACY", "MACS", "PARAMS", "STORAGE", "FIDELITY", "GENOME"}}
	for _, s := range outcome.Front {
		id := rec.ids[s.Seq]
		bits, err := sp.StorageBits(s.Genome)
		if err != nil {
			return fmt.Errorf("candidate %v: storage: %w", id, err)
		}
		t.add(id, fmt.Sprintf("%.4f", s.Result.Accuracy), humanCount(s.MACs), humanCount(s.Params),
			humanBytes(bits), s.Fidelity.Key(), s.Genome.String())
	}
	return t.write(out, isTerminal(out))
}

// humanBytes formats a number of bits as bytes in KB or MB (powers of 1000).
func humanBytes(bits int64) string {
	b := float64(bits) / 8
	switch {
	case b >= 1e6:
		return fmt.Sprintf("%.2fMB", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.1fKB", b/1e3)
	}
	return fmt.Sprintf("%.0fB", b)
}

// errInterrupted ends a run stopped by Ctrl-C or SIGTERM; its message has been printed.
var errInterrupted = errors.New("interrupted")

// proxyEvaluator scores candidates by training their proxies (evaluate.Proxy).
type proxyEvaluator struct{ p *evaluate.Proxy }

// Evaluate implements search.Evaluator. A candidate that does not build or train is
// a failed result; only a cancelled context is an error.
func (e *proxyEvaluator) Evaluate(ctx context.Context, g space.Genome, hash string, f search.Fidelity) (search.Result, error) {
	s, err := e.p.Score(ctx, g, hash, f)
	if err != nil {
		if ctx.Err() != nil {
			return search.Result{}, ctx.Err()
		}
		return search.Result{Failed: err.Error()}, nil
	}
	r := search.Result{Accuracy: s.ValAccuracy, ValLoss: s.ValLoss, ProxyMACs: s.ProxyMACs,
		TrainSeconds: s.TrainSeconds, ImagesPerSec: s.ImagesPerSec}
	if s.Diverged != "" {
		r.Failed = s.Diverged
	}
	return r, nil
}

// progress prints the search's progress on stderr: rewriting one line on a
// terminal, a line per generation and every 30 seconds otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	last  time.Time
	gen   int
	shown bool
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, tty: isTerminal(w), gen: -1}
}

func (p *progress) update(s search.Progress) {
	now := time.Now()
	line := fmt.Sprintf("gen %d  evals %d (+%d running)  best %.4f @%s  front %d  HV %.4f  elapsed %s  eta %s",
		s.Generation, s.Evaluations, s.Running, s.BestAccuracy, s.Fidelity.Key(), s.FrontSize, s.Hypervolume,
		s.Elapsed.Round(time.Second), s.ETA.Round(time.Second))
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		p.shown = true
	case s.Generation != p.gen || now.Sub(p.last) >= 30*time.Second:
		fmt.Fprintln(p.w, line)
		p.last = now
	}
	p.gen = s.Generation
}

func (p *progress) done() {
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}
