package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgDB is the PostgreSQL server of -postgres: fresh schemas for the load
// runs, and the CPU time of its processes.
type pgDB struct {
	dsn        string
	postmaster int // the server's main process, 0 if not visible here
}

func openPG(ctx context.Context, dsn string) (*pgDB, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("-postgres: %w", err)
	}
	defer conn.Close(ctx)
	db := &pgDB{dsn: dsn}
	var backend int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err == nil {
		// Our backend's parent is the postmaster, if the server runs on
		// this machine in our PID namespace (its /proc entry names it).
		if ppid, err := procParent(backend); err == nil && procName(ppid) == "postgres" {
			db.postmaster = ppid
		}
	}
	return db, nil
}

// freshSchema makes an empty schema and returns a DSN whose connections
// use it, and a function that drops it.
func (db *pgDB) freshSchema(ctx context.Context) (string, func(), error) {
	b := make([]byte, 8)
	rand.Read(b)
	schema := "attesta_report_" + hex.EncodeToString(b)
	if err := db.exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		return "", nil, err
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := db.exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			logf("dropping %s: %v", schema, err)
		}
	}
	return withSearchPath(db.dsn, schema), drop, nil
}

func (db *pgDB) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, db.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// withSearchPath returns dsn with its connections' search_path set to
// schema.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

// cpu is the CPU time of every process of the PostgreSQL server so far:
// the postmaster's own and that of its children, those that exited
// (cutime, cstime) and those that run. ok is false if the server's
// processes are not visible from here (another machine, a container).
func (db *pgDB) cpu() (time.Duration, bool) {
	if db.postmaster == 0 {
		return 0, false
	}
	own, err := procCPUAll(db.postmaster)
	if err != nil {
		return 0, false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, err := procParent(pid); err == nil && ppid == db.postmaster {
			if c, err := procCPU(pid); err == nil {
				own += c
			}
		}
	}
	return own, true
}

// procStat returns the fields of /proc/PID/stat after the command name
// (f[0] is field 3, the state).
func procStat(pid int) ([]string, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, err
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("odd /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return nil, fmt.Errorf("short /proc/%d/stat", pid)
	}
	return f, nil
}

func procParent(pid int) (int, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(f[1])
}

func procName(pid int) string {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(raw))
}

// procCPUAll is a process's user+system CPU time with that of its
// children that have exited and been waited for (fields 14 to 17).
func procCPUAll(pid int) (time.Duration, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	var ticks int64
	for _, s := range f[11:15] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clkTck, nil
}
