package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func serve(t *testing.T, env map[string]string, method, path string) (int, map[string]any) {
	t.Helper()
	recorder := httptest.NewRecorder()
	handler(func(k string) string { return env[k] }).ServeHTTP(recorder, httptest.NewRequest(method, path, nil))
	var body map[string]any
	if method != http.MethodHead {
		if err := json.Unmarshal(recorder.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s %s: not JSON: %q", method, path, recorder.Body.String())
		}
	}
	if got := recorder.Header().Get("Content-Type"); got != "application/json" {
		t.Fatalf("Content-Type %q", got)
	}
	return recorder.Code, body
}

func TestHealthAnswersOK(t *testing.T) {
	status, body := serve(t, nil, http.MethodGet, "/health")
	if status != http.StatusOK || body["status"] != "ok" || len(body) != 1 {
		t.Fatalf("got %d %v", status, body)
	}
}

func TestAnyOtherPathSaysWhereItRan(t *testing.T) {
	env := map[string]string{"SERVICE_NAME": "go-demo", "AWS_REGION": "us-east-2", "ENVIRONMENT": "dev"}
	status, body := serve(t, env, http.MethodGet, "/go/hello")
	want := map[string]any{"service": "go-demo", "path": "/go/hello", "region": "us-east-2", "environment": "dev", "compute": "fargate"}
	if status != http.StatusOK || len(body) != len(want) {
		t.Fatalf("got %d %v", status, body)
	}
	for k, v := range want {
		if body[k] != v {
			t.Fatalf("%s: got %v, want %v", k, body[k], v)
		}
	}
}

func TestOnLambdaItSaysSo(t *testing.T) {
	env := map[string]string{"SERVICE_NAME": "go-demo", "AWS_LAMBDA_FUNCTION_NAME": "devops-platform-dev-go-demo"}
	_, body := serve(t, env, http.MethodGet, "/go/x")
	if body["compute"] != "lambda" || body["region"] != nil {
		t.Fatalf("got %v", body)
	}
}

func TestOtherMethodsAreRefused(t *testing.T) {
	status, body := serve(t, nil, http.MethodPost, "/go/x")
	if status != http.StatusMethodNotAllowed || body["error"] == nil {
		t.Fatalf("got %d %v", status, body)
	}
}
