// The go-demo service: the same contract as the Python samples, in Go's standard library only.
//
// GET /health answers the health check (and the Lambda Web Adapter's readiness check); any other
// GET says where it ran. It listens on $PORT, logs one JSON line per request to stdout, and
// finishes its requests and exits 0 on SIGTERM. On Lambda the adapter in the image turns the
// ALB's invocations into requests to this server; the code does not know the difference.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type reply map[string]any

// handler answers every path; env reads the environment (os.Getenv in main, a map in tests).
func handler(env func(string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusOK
		body := reply{"status": "ok"}
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			status = http.StatusMethodNotAllowed
			body = reply{"error": "method " + r.Method + " not allowed", "allowed": []string{"GET", "HEAD"}}
			w.Header().Set("Allow", "GET, HEAD")
		case r.URL.Path != "/health":
			body = reply{
				"service":     env("SERVICE_NAME"),
				"path":        r.URL.Path,
				"region":      orNil(env("AWS_REGION")),
				"environment": orNil(env("ENVIRONMENT")),
				"compute":     compute(env),
			}
		}
		data, _ := json.Marshal(body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(data)
		}
		line, _ := json.Marshal(reply{"method": r.Method, "path": r.URL.Path, "status": status})
		os.Stdout.Write(append(line, '\n'))
	})
}

// compute says which of the platform's computes runs the image: Lambda sets AWS_LAMBDA_FUNCTION_NAME.
func compute(env func(string) string) string {
	if env("AWS_LAMBDA_FUNCTION_NAME") != "" {
		return "lambda"
	}
	return "fargate"
}

func orNil(value string) any {
	if value == "" {
		return nil
	}
	return value
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	server := &http.Server{Addr: ":" + port, Handler: handler(os.Getenv), ReadHeaderTimeout: 10 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		// ECS stops tasks with SIGTERM: finish what is in flight, then exit 0.
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
	}()
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
