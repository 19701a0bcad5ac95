package main

import (
	"net"
	"strconv"

	"github.com/lambda-mw/mw/cmd/internal/fakeext"
)

// listen starts serving the fake on -host:-port. It returns the error of a
// failed listen, which the caller reports when Lambda wants it (after
// registering, in Lambda mode).
func (em *emulator) listen() error {
	if !isLoopback(em.cfg.host) {
		em.logger.Printf("-host %s is not a loopback address: anyone who can reach it and sends the token can read every value", em.cfg.host)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(em.cfg.host, strconv.Itoa(em.cfg.port)))
	if err != nil {
		return err
	}
	em.logger.Printf("serving the %s dialect on http://%s", em.cfg.dialect, ln.Addr())
	em.srv = fakeext.Serve(ln, em.ext, em.logger, em.cfg.quiet, fakeext.DefaultTimeouts)
	return nil
}

// shutdown closes the fake (which releases hung and delayed requests),
// stops the server if it serves, and logs the counters.
func (em *emulator) shutdown(reason string) {
	if em.srv != nil {
		em.srv.Shutdown(reason)
		return
	}
	em.ext.Close()
	fakeext.LogStats(em.logger, em.ext, reason)
}

// isLoopback reports whether host names the loopback interface: an IP
// address of it, or "localhost". Any other name counts as not loopback.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
