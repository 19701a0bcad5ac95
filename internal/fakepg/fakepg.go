// Package fakepg is a PostgreSQL server that does just enough for a client
// to log in and ping: the startup message, cleartext password
// authentication, and the simple query protocol answered with an empty
// result. It is for the tests and the e2e suite of examples/json-credentials,
// where it plays the database whose password rotates. It uses only the
// standard library and never logs a password.
package fakepg

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// SQLSTATE codes a failed login is answered with, as PostgreSQL does.
const (
	InvalidPassword             = "28P01"
	InvalidAuthorizationSpec    = "28000"
	protocolVersion3            = 196608
	sslRequestCode              = 80877103
	gssEncRequestCode           = 80877104
	maxStartupLen               = 10000
	maxMessageLen               = 1 << 20
	authenticationOK            = 0
	authenticationCleartextPass = 3
)

// Server is a fake PostgreSQL server with one user and one database.
type Server struct {
	ln       net.Listener
	mu       sync.Mutex
	user     string
	password string
	database string
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup

	logins   atomic.Int64
	failures atomic.Int64
}

// Listen starts a server on addr ("127.0.0.1:0" for any free port) that
// accepts user with password on database.
func Listen(addr, user, password, database string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, user: user, password: password, database: database, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() *net.TCPAddr { return s.ln.Addr().(*net.TCPAddr) }

// SetPassword changes the password that logins must give, as a rotation
// does. With dropSessions, open sessions are closed too, so that clients
// must log in again.
func (s *Server) SetPassword(password string, dropSessions bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.password = password
	if dropSessions {
		for c := range s.conns {
			c.Close()
		}
	}
}

// Logins counts successful logins; Failures counts rejected ones.
func (s *Server) Logins() int64   { return s.logins.Load() }
func (s *Server) Failures() int64 { return s.failures.Load() }

// Close stops the server and closes every session.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			_ = s.session(c)
		}()
	}
}

func (s *Server) session(c net.Conn) error {
	r := bufio.NewReader(c)
	params, err := readStartup(r, c)
	if err != nil {
		return err
	}
	if err := writeMsg(c, 'R', be32(authenticationCleartextPass)); err != nil {
		return err
	}
	typ, body, err := readMsg(r)
	if err != nil {
		return err
	}
	if typ != 'p' {
		return fmt.Errorf("fakepg: want a password message, got %q", typ)
	}
	pw := string(trimNUL(body))
	s.mu.Lock()
	ok := params["user"] == s.user && pw == s.password
	dbOK := params["database"] == "" || params["database"] == s.database
	s.mu.Unlock()
	if !ok {
		s.failures.Add(1)
		return writeError(c, InvalidPassword, fmt.Sprintf("password authentication failed for user %q", params["user"]))
	}
	if !dbOK {
		s.failures.Add(1)
		return writeError(c, "3D000", fmt.Sprintf("database %q does not exist", params["database"]))
	}
	s.logins.Add(1)
	out := append([]byte(nil), msg('R', be32(authenticationOK))...)
	for _, kv := range [][2]string{{"server_version", "16.0 (fakepg)"}, {"client_encoding", "UTF8"}, {"standard_conforming_strings", "on"}, {"DateStyle", "ISO, MDY"}, {"integer_datetimes", "on"}} {
		out = append(out, msg('S', []byte(kv[0]+"\x00"+kv[1]+"\x00"))...)
	}
	out = append(out, msg('K', append(be32(1), be32(2)...))...)
	out = append(out, msg('Z', []byte{'I'})...)
	if _, err := c.Write(out); err != nil {
		return err
	}
	for {
		typ, _, err := readMsg(r)
		if err != nil {
			return err
		}
		switch typ {
		case 'X': // Terminate
			return nil
		case 'Q': // a simple query, such as pgx's "-- ping": an empty result
			if _, err := c.Write(append(msg('I', nil), msg('Z', []byte{'I'})...)); err != nil {
				return err
			}
		default:
			return writeError(c, "0A000", fmt.Sprintf("fakepg: message %q is not supported", typ))
		}
	}
}

// readStartup reads the startup message, declining SSL and GSS encryption
// requests first, and returns its parameters.
func readStartup(r *bufio.Reader, w io.Writer) (map[string]string, error) {
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		code := binary.BigEndian.Uint32(hdr[4:])
		if n < 8 || n > maxStartupLen {
			return nil, errors.New("fakepg: bad startup length")
		}
		body := make([]byte, n-8)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, err
		}
		switch code {
		case sslRequestCode, gssEncRequestCode:
			if _, err := w.Write([]byte{'N'}); err != nil {
				return nil, err
			}
			continue
		case protocolVersion3:
		default:
			return nil, fmt.Errorf("fakepg: unsupported protocol %d", code)
		}
		params := map[string]string{}
		fields := splitNUL(body)
		for i := 0; i+1 < len(fields) && fields[i] != ""; i += 2 {
			params[fields[i]] = fields[i+1]
		}
		return params, nil
	}
}

func readMsg(r *bufio.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > maxMessageLen {
		return 0, nil, errors.New("fakepg: bad message length")
	}
	body := make([]byte, n-4)
	_, err := io.ReadFull(r, body)
	return hdr[0], body, err
}

func msg(typ byte, body []byte) []byte {
	b := make([]byte, 5, 5+len(body))
	b[0] = typ
	binary.BigEndian.PutUint32(b[1:], uint32(4+len(body)))
	return append(b, body...)
}

func writeMsg(w io.Writer, typ byte, body []byte) error {
	_, err := w.Write(msg(typ, body))
	return err
}

func writeError(w io.Writer, code, text string) error {
	var b []byte
	for _, f := range [][2]string{{"S", "FATAL"}, {"V", "FATAL"}, {"C", code}, {"M", text}} {
		b = append(b, f[0][0])
		b = append(b, f[1]...)
		b = append(b, 0)
	}
	b = append(b, 0)
	if err := writeMsg(w, 'E', b); err != nil {
		return err
	}
	return errors.New("fakepg: " + text)
}

func be32(v uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, v)
	return b
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

func splitNUL(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return out
}
