package test

import (
	"os"
	"testing"

	"github.com/lambda-mw/mw/awssdk/internal/moto"
)

// server is the moto_server every test shares, nil when it is missing.
var server *moto.Server

func TestMain(m *testing.M) {
	os.Exit(moto.Main(m, func(s *moto.Server) { server = s }))
}
