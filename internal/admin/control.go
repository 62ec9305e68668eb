package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SocketName is the control socket's file name in the data directory.
const SocketName = "control.sock"

// maxRequest bounds a control request (a JSON line): room for a photo (base64).
const maxRequest = 1 << 20

// ControlServer answers admin requests on a Unix socket that only the data directory's
// owner can reach (mode 0600).
type ControlServer struct {
	svc *Service
	ln  net.Listener
	log *slog.Logger
	wg  sync.WaitGroup
}

// ListenControl creates the control socket in dataDir, replacing a stale one (the
// caller holds the data directory's lock, so no other server can own it).
func ListenControl(dataDir string, svc *Service, log *slog.Logger) (*ControlServer, error) {
	path := filepath.Join(dataDir, SocketName)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return &ControlServer{svc: svc, ln: ln, log: log}, nil
}

// Serve accepts until Close; each connection carries one request and its response.
func (c *ControlServer) Serve(ctx context.Context) {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer conn.Close()
			c.handle(ctx, conn)
		}()
	}
}

func (c *ControlServer) handle(ctx context.Context, conn net.Conn) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("panic in control request", "panic", p)
		}
	}()
	conn.SetDeadline(time.Now().Add(5 * time.Minute))
	line, err := bufio.NewReader(io.LimitReader(conn, maxRequest)).ReadBytes('\n')
	var resp Response
	var req Request
	if err != nil {
		resp = Response{Error: "control: incomplete request", Exit: ExitUsage}
	} else if err := json.Unmarshal(line, &req); err != nil {
		resp = Response{Error: "control: malformed request", Exit: ExitUsage}
	} else {
		resp = c.svc.Do(ctx, req)
		c.log.Info("admin command", "op", req.Op, "email", req.Email, "domain", req.Domain, "exit", resp.Exit)
	}
	b, _ := json.Marshal(resp)
	conn.Write(append(b, '\n'))
}

// Close stops accepting, waits for running requests and removes the socket.
func (c *ControlServer) Close() error {
	err := c.ln.Close()
	c.wg.Wait()
	return err
}

// Call sends a request to the server running on dataDir.
func Call(ctx context.Context, dataDir string, req Request) (Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(dataDir, SocketName))
	if err != nil {
		return Response{}, fmt.Errorf("control socket: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	b, _ := json.Marshal(req)
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return Response{}, fmt.Errorf("control socket: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return Response{}, fmt.Errorf("control socket: no answer: %w", err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return Response{}, fmt.Errorf("control socket: %w", err)
	}
	return resp, nil
}
