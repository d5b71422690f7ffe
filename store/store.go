package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// DefaultPath is where nas keeps its database unless told otherwise.
const DefaultPath = "results/nas.db"

// applicationID marks a SQLite file as a nas database ("nas!" in ASCII), so that a
// database written by another program is recognised and left alone.
const applicationID = 0x6e617321

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrForeign is returned when a file is a SQLite database of another program.
var ErrForeign = errors.New("not a nas database")

// ErrNewer is returned when a database has a schema newer than this nas knows.
var ErrNewer = errors.New("database schema is newer than this nas")

// DB is a nas results database.
type DB struct {
	db   *sql.DB
	path string
}

// Open opens the database at path, creating it and its folder on first use, and
// brings its schema up to date. A file that is not a nas database, or whose schema
// is newer than this program's, is refused and left unchanged.
func Open(path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &DB{db: db, path: path}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// OpenReadOnly opens an existing database for reading only: every connection is
// read-only, so nothing sent through it can change the file.
func OpenReadOnly(path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite3", dsn(path)+"&mode=ro")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &DB{db: db, path: path}
	if _, err := s.version(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// dsn sets the per-connection settings in the data source name, so that every
// connection of the pool gets them (a PRAGMA through db.Exec reaches only one).
func dsn(path string) string {
	q := url.Values{}
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Path returns the file the database lives in.
func (s *DB) Path() string { return s.path }

// SQL returns the underlying handle, for read-only queries.
func (s *DB) SQL() *sql.DB { return s.db }

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and '_'", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, e.Name(), string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// version returns the schema version of the database, 0 for an empty file, or an
// error if the file belongs to another program or is newer than this nas.
func (s *DB) version(ctx context.Context) (int, error) {
	var appID int64
	if err := s.db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return 0, fmt.Errorf("read database: %w", err)
	}
	var tables int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&tables); err != nil {
		return 0, fmt.Errorf("read database: %w", err)
	}
	if appID != applicationID {
		if tables == 0 && appID == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("%w (application id %#x, %d schema objects); refusing to touch it", ErrForeign, appID, tables)
	}
	var v int
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("%w: no migrations table: %v", ErrForeign, err)
	}
	ms, err := migrations()
	if err != nil {
		return 0, err
	}
	if known := ms[len(ms)-1].version; v > known {
		return 0, fmt.Errorf("%w (schema %d, this nas knows up to %d): upgrade nas", ErrNewer, v, known)
	}
	return v, nil
}

// migrate applies the embedded migrations the database lacks, each in a transaction
// that also records it in the migrations table.
func (s *DB) migrate(ctx context.Context) error {
	v, err := s.version(ctx)
	if err != nil {
		return err
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.version <= v {
			continue
		}
		if err := s.apply(ctx, m, v == 0); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		v = m.version
	}
	return nil
}

func (s *DB) apply(ctx context.Context, m migration, first bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if first {
		// A concurrent process may have created the schema since version was read.
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = 'migrations'").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
			return err
		}
	} else {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM migrations WHERE version = ?", m.version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, now()); err != nil {
		return err
	}
	return tx.Commit()
}

// now is the timestamp format of every *_at column: UTC, RFC 3339 with milliseconds.
func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }
