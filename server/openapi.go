package server

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the hand-written OpenAPI 3.1 document of the API.
//
//go:embed openapi.json
var OpenAPI []byte

func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
}
