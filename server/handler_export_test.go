package server

import "net/http"

// Handler is the server's whole HTTP handler, for tests that serve
// requests in-process, without sockets (the fuzz targets).
func (s *Server) Handler() http.Handler { return s.http.Handler }
