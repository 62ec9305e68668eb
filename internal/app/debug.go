package app

import (
	"net/http"
	"net/http/pprof"
	"time"
)

// debugServer serves Go's runtime profiles on the loopback-only debug listener
// (listen.debug), for diagnosing memory and CPU use of a running server.
func debugServer() Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}
