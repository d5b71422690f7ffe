-- The first schema of a nas results database. See results/SCHEMA.md for the meaning
-- of every column; the column names are a stable contract for sqlite3 users.

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'interrupted', 'finished', 'failed')),
    seed        INTEGER NOT NULL,
    budget_macs INTEGER NOT NULL CHECK (budget_macs > 0),
    strategy    TEXT NOT NULL,
    dataset     TEXT NOT NULL,
    config      TEXT NOT NULL CHECK (json_valid(config)),
    nas_version TEXT NOT NULL,
    error       TEXT
);

CREATE TABLE candidates (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    generation    INTEGER NOT NULL,
    arch_hash     TEXT NOT NULL,
    genome        TEXT NOT NULL CHECK (json_valid(genome)),
    macs          INTEGER NOT NULL,
    params        INTEGER NOT NULL,
    proxy_macs    INTEGER,
    fidelity      TEXT NOT NULL,
    accuracy      REAL,
    val_loss      REAL,
    train_seconds REAL,
    images_per_sec REAL,
    cached        INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    error         TEXT,
    created_at    TEXT NOT NULL,
    finished_at   TEXT,
    UNIQUE (run_id, seq)
);
CREATE INDEX candidates_run ON candidates (run_id, status);
CREATE INDEX candidates_hash ON candidates (arch_hash, fidelity);

-- The evaluation cache: one training per architecture and fidelity (the fidelity
-- key includes the dataset and proxy settings), shared by every run in the file.
CREATE TABLE evaluations (
    arch_hash      TEXT NOT NULL,
    fidelity       TEXT NOT NULL,
    accuracy       REAL,
    val_loss       REAL,
    proxy_macs     INTEGER,
    train_seconds  REAL,
    images_per_sec REAL,
    status         TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    error          TEXT,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (arch_hash, fidelity)
);

-- What resume needs: the strategy's state (population, RNG, counters) as it stood at
-- the end of each generation.
CREATE TABLE checkpoints (
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    state      TEXT NOT NULL CHECK (json_valid(state)),
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, generation)
);

-- The population of each generation, by candidate.
CREATE TABLE populations (
    run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    generation   INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    candidate_id INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    PRIMARY KEY (run_id, generation, position)
);

-- Each run's feasible, finished candidates that no other such candidate of the same
-- run and fidelity dominates (at least as accurate and no more MACs, better in one).
CREATE VIEW pareto AS
SELECT c.*
FROM candidates c
JOIN runs r ON r.id = c.run_id
WHERE c.status = 'done' AND c.accuracy IS NOT NULL AND c.macs <= r.budget_macs
  AND NOT EXISTS (
    SELECT 1 FROM candidates d
    WHERE d.run_id = c.run_id AND d.fidelity = c.fidelity AND d.status = 'done'
      AND d.accuracy IS NOT NULL AND d.macs <= r.budget_macs
      AND d.accuracy >= c.accuracy AND d.macs <= c.macs
      AND (d.accuracy > c.accuracy OR d.macs < c.macs)
  );
