// Command trivy-db writes a trivy vulnerability database (trivy-db's schema, through trivy-db's own
// packages at the version trivy pins) holding only the advisories named on the command line.
// The e2e cluster cannot download trivy's database, so its scans read one of these instead; the
// Tasks keep trivy's normal database everywhere else.
//
//	trivy-db DIR [ECOSYSTEM|PACKAGE|VULNERABLE|ID|SEVERITY ...]
//
// DIR becomes a trivy cache's db/ directory (trivy.db and metadata.json). Each advisory names a
// language ecosystem (pip, npm, go, ...), a package, its vulnerable versions in the ecosystem's
// syntax (e.g. "<4.0"), an id and a severity (LOW, MEDIUM, HIGH, CRITICAL). With none, the
// database is empty: every scan against it finds no vulnerability.
package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	bolt "go.etcd.io/bbolt"
)

const sourceName = "techcommerce e2e advisories"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: trivy-db DIR [ECOSYSTEM|PACKAGE|VULNERABLE|ID|SEVERITY ...]")
		os.Exit(2)
	}
	if err := write(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "trivy-db:", err)
		os.Exit(1)
	}
}

func write(dir string, advisories []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := db.Init(dir); err != nil {
		return err
	}
	defer db.Close()
	dbc := db.Config{}
	err := dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, spec := range advisories {
			fields := strings.Split(spec, "|")
			if len(fields) != 5 {
				return fmt.Errorf("%q: want ECOSYSTEM|PACKAGE|VULNERABLE|ID|SEVERITY", spec)
			}
			ecosystem, pkg, vulnerable, id, severity := fields[0], fields[1], fields[2], fields[3], fields[4]
			if _, err := types.NewSeverity(severity); err != nil {
				return fmt.Errorf("%q: %w", spec, err)
			}
			// trivy looks up a language package's advisories in every bucket named ECOSYSTEM::...
			bucket := ecosystem + "::" + sourceName
			if err := dbc.PutDataSource(tx, bucket, types.DataSource{ID: "e2e", Name: sourceName}); err != nil {
				return err
			}
			advisory := types.Advisory{VulnerableVersions: []string{vulnerable}}
			if err := dbc.PutAdvisory(tx, []string{bucket, pkg}, id, advisory); err != nil {
				return err
			}
			vulnerability := types.Vulnerability{
				Title:    fmt.Sprintf("e2e advisory for %s %s", pkg, vulnerable),
				Severity: severity,
			}
			if err := dbc.PutVulnerability(tx, id, vulnerability); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	return metadata.NewClient(dir).Update(metadata.Metadata{
		Version:    db.SchemaVersion,
		NextUpdate: now.AddDate(10, 0, 0), // never stale: nothing may try to download an update
		UpdatedAt:  now,
	})
}
