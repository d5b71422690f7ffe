package main

import (
	"context"
	"fmt"
	"strconv"

	"nas/evaluate"
	"nas/ops"
	"nas/space"
)

// loadStoredCandidate builds a stored candidate for export. Without weights it is
// built at the given shape (the run's target by default). With weights it is built
// at the proxy shape of its evaluation and trained again exactly as the search
// trained it: the same recipe, fidelity, data and seed (derived from the run's seed
// and the architecture's hash), so the weights are bit-identical to the search's.
func loadStoredCandidate(dbPath string, id int64, in ops.Shape, classes int, withWeights bool) (*ops.Network, map[string]any, error) {
	ctx := context.Background()
	db, err := openForReading(dbPath)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	c, err := db.Candidate(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	run, err := db.Run(ctx, strconv.FormatInt(c.RunID, 10))
	if err != nil {
		return nil, nil, err
	}
	cfg, err := loadRunConfig(run)
	if err != nil {
		return nil, nil, err
	}
	sp, err := cfg.space()
	if err != nil {
		return nil, nil, err
	}
	g, err := loadGenome(c)
	if err != nil {
		return nil, nil, err
	}
	target, _ := sp.Cost(g)
	info := map[string]any{
		"genome": g, "hash": c.ArchHash, "target": cfg.Target, "target_macs": target.MACs, "target_params": target.Params,
		"accuracy": c.Accuracy, "fidelity": c.Fidelity,
		"provenance": map[string]any{"nas_version": version(), "run": run.Name, "run_id": run.ID, "candidate": c.ID,
			"seed": run.Seed, "created_at": c.CreatedAt, "run_nas_version": run.Version},
	}
	if !withWeights {
		net, err := sp.Build(g, space.BuildOptions{Input: in, Classes: classes})
		return net, info, err
	}
	fid, err := fidelityOf(cfg, c.Fidelity)
	if err != nil {
		return nil, nil, err
	}
	data, err := openDataset(cfg.Dataset, cfg.DataDir, cfg.ValSize, cfg.Seed)
	if err != nil {
		return nil, nil, err
	}
	if (in != ops.Shape{} && in != data.Shape()) || (classes != 0 && classes != data.Classes()) {
		return nil, nil, usagef("--weights: the trained proxy has input %v and %d classes; export it at that shape", data.Shape(), data.Classes())
	}
	net, err := sp.Build(g, space.BuildOptions{Input: data.Shape(), Classes: data.Classes(), ProxyWidth: fid.Width})
	if err != nil {
		return nil, nil, err
	}
	r := cfg.Recipe
	r.Epochs, r.TrainSize = fid.Epochs, fid.TrainSize
	res, err := evaluate.Fit(ctx, net, data, r, evaluate.TrainingSeed(cfg.Seed, c.ArchHash))
	if err != nil {
		return nil, nil, err
	}
	if res.Diverged != "" {
		return nil, nil, fmt.Errorf("training diverged: %s", res.Diverged)
	}
	// Scoring the weights again shows they are the ones the search scored.
	acc, err := evaluate.Evaluate(net, data, evaluate.Val, 0)
	if err != nil {
		return nil, nil, err
	}
	info["proxy_width"] = fid.Width
	info["reproduced_accuracy"] = acc.Accuracy
	return net, info, nil
}

// fidelityOf finds the run's fidelity whose cache key is key ("dataset/nN-eE-wW").
func fidelityOf(cfg *runConfig, key string) (evaluate.Fidelity, error) {
	for _, f := range cfg.Fidelities {
		if cfg.Dataset+"/"+f.Key() == key {
			return f, nil
		}
	}
	return evaluate.Fidelity{}, fmt.Errorf("fidelity %q is not one of the run's", key)
}
