package web

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3 document of every route the portal serves; a test holds it to
// account (every route is in it, and real responses match its schemas).
//
//go:embed openapi.json
var openAPI []byte

func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	writeJSONBytes(w, http.StatusOK, openAPI)
}
