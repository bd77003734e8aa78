package giteatest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"text/template"
)

// config is what varies between two test servers' app.ini files.
type config struct {
	Dir       string // work path: data, repositories, logs
	Port      int
	RunUser   string
	SecretKey string
	Internal  string // INTERNAL_TOKEN, so Gitea does not rewrite app.ini on start
	PageSize  int    // [api] DEFAULT_PAGING_NUM
}

// The settings keep a test server small, fast and closed: SQLite, in-memory
// queues, caches and sessions (webhooks go out without a LevelDB round trip),
// no SSH, mail, registration, captcha, Actions, packages, LFS or federation,
// and webhooks allowed to loopback only, which is where tests listen.
var appIni = template.Must(template.New("app.ini").Parse(`APP_NAME = gitlaunch test
RUN_MODE = prod
RUN_USER = {{.RunUser}}
WORK_PATH = {{.Dir}}

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = {{.Port}}
DOMAIN = 127.0.0.1
ROOT_URL = http://127.0.0.1:{{.Port}}/
APP_DATA_PATH = {{.Dir}}/data
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false

[database]
DB_TYPE = sqlite3
PATH = {{.Dir}}/data/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = {{.Dir}}/repositories
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = {{.SecretKey}}
INTERNAL_TOKEN = {{.Internal}}
PASSWORD_COMPLEXITY = off
MIN_PASSWORD_LENGTH = 8

[oauth2]
ENABLED = false

[service]
DISABLE_REGISTRATION = true
ENABLE_CAPTCHA = false
REQUIRE_SIGNIN_VIEW = false
DEFAULT_KEEP_EMAIL_PRIVATE = false
ENABLE_NOTIFY_MAIL = false

[api]
DEFAULT_PAGING_NUM = {{.PageSize}}
MAX_RESPONSE_ITEMS = {{if gt .PageSize 50}}{{.PageSize}}{{else}}50{{end}}

[mailer]
ENABLED = false

[webhook]
ALLOWED_HOST_LIST = loopback
DELIVER_TIMEOUT = 10

[queue]
TYPE = channel

[cache]
ADAPTER = memory

[session]
PROVIDER = memory

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[actions]
ENABLED = false

[packages]
ENABLED = false

[picture]
DISABLE_GRAVATAR = true
ENABLE_FEDERATED_AVATAR = false

[migrations]
ALLOW_LOCALNETWORKS = false

[log]
MODE = console
LEVEL = Warn
ROOT_PATH = {{.Dir}}/log
`))

// render writes the app.ini text for c.
func (c config) render() ([]byte, error) {
	var buf bytes.Buffer
	if err := appIni.Execute(&buf, c); err != nil {
		return nil, fmt.Errorf("render app.ini: %w", err)
	}
	return buf.Bytes(), nil
}

// randomHex returns n random bytes as hex, for secrets and passwords.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
