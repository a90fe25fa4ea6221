package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
)

const keyUsage = `usage: tessera key create [--read] NAME
       tessera key list
       tessera key revoke NAME|FINGERPRINT

API keys: bearer tokens for tessera serve, kept in the database of DATABASE_URL (default
` + pgstore.DefaultDSN + `) as SHA-256 hashes, beside TESSERA_ADMIN_TOKEN.

  create   makes a key and prints its token, once (it cannot be shown again). A key writes
           (uploads, re-parses, deletes, legends) and reads; --read makes one that only reads,
           for a server with TESSERA_PRIVATE_READS=1 whose map page is public: a page's token
           can be read by whoever opens it. Send it as Authorization: Bearer TOKEN. A name
           has no control characters and is not 12 hex digits (a fingerprint's shape).
  list     the keys: name, scope, fingerprint (the start of the token's hash) and when made.
  revoke   deletes every key of that name, or the one key of that fingerprint.

Exit status: 0 done, 1 no such key or a database error, 2 usage error.`

// runKey is `tessera key create|list|revoke`.
func runKey(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "tessera key: say what to do: create, list or revoke\n\n%s\n", keyUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("key "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, keyUsage) }
	read := false
	want := 0 // arguments after the flags
	switch sub {
	case "create":
		fs.BoolVar(&read, "read", false, "a key that only reads")
		want = 1
	case "list":
	case "revoke":
		want = 1
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, keyUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "tessera key: unknown action %q: create, list or revoke (tessera key --help)\n", sub)
		return 2
	}
	// Flags after the name too (tessera key create NAME --read).
	pos, code, ok := parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(pos) != want {
		what := map[string]string{"create": "one name", "list": "nothing", "revoke": "one name or fingerprint"}[sub]
		fmt.Fprintf(stderr, "tessera key %s: takes %s, got %d argument(s) (tessera key --help)\n", sub, what, len(pos))
		return 2
	}
	ref := ""
	if want == 1 {
		ref = pos[0]
	}
	if sub == "create" {
		if err := pgstore.CheckKeyName(ref); err != nil {
			fmt.Fprintf(stderr, "tessera key create: %v\n", err)
			return 2
		}
	}
	return withStore("key", true, stderr, func(ctx context.Context, st *pgstore.Store) int {
		switch sub {
		case "create":
			scope := catalog.ScopeWrite
			if read {
				scope = catalog.ScopeRead
			}
			tok, err := st.CreateAPIKey(ctx, ref, scope)
			if err != nil {
				fmt.Fprintf(stderr, "tessera key create: %v\n", err)
				return 1
			}
			fmt.Fprintln(stdout, tok)
			fmt.Fprintf(stderr, "tessera key: made %s key %q; its token (above) is shown this once\n", scope, ref)
		case "list":
			keys, err := st.APIKeys(ctx)
			if err != nil {
				fmt.Fprintf(stderr, "tessera key list: %v\n", err)
				return 1
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSCOPE\tFINGERPRINT\tCREATED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, k.Scope, k.Fingerprint, k.Created.UTC().Format("2006-01-02 15:04:05Z"))
			}
			tw.Flush()
		case "revoke":
			gone, err := st.RevokeAPIKeys(ctx, ref)
			if errors.Is(err, catalog.ErrNotFound) {
				fmt.Fprintf(stderr, "tessera key revoke: no key has the name or fingerprint %q (tessera key list)\n", ref)
				return 1
			}
			if err != nil {
				fmt.Fprintf(stderr, "tessera key revoke: %v\n", err)
				return 1
			}
			for _, k := range gone {
				fmt.Fprintf(stdout, "revoked %s key %q (%s)\n", k.Scope, k.Name, k.Fingerprint)
			}
		}
		return 0
	})
}
