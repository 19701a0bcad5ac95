// Command fakepg serves internal/fakepg, a PostgreSQL that does just enough
// for a login and a ping, for the e2e suite's run of
// examples/json-credentials. It serves until SIGINT or SIGTERM and then
// prints how many logins it accepted and refused. It never prints a
// password.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lambda-mw/mw/internal/fakepg"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5432", "address to listen on")
	user := flag.String("user", "app", "the one user")
	database := flag.String("database", "orders", "the one database")
	flag.Parse()
	password := os.Getenv("FAKEPG_PASSWORD") // not a flag: flags show in ps
	srv, err := fakepg.Listen(*addr, *user, password, *database)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakepg:", err)
		os.Exit(1)
	}
	fmt.Printf("[fakepg] listening on %s\n", srv.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	srv.Close()
	fmt.Printf("[fakepg] exit: %d logins, %d refused\n", srv.Logins(), srv.Failures())
}
