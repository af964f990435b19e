package redacttest

import "strings"

// Value is one input of the value corpus: a value captured under a name
// (a flag, an environment variable, a struct field or a NAME=value
// argument) by package record.
type Value struct {
	// Name is the flag, variable or field name; "" means any harmless
	// name (the value is secret, or not, by itself).
	Name string
	// Value is the captured text.
	Value string
	// Secret is the text that must not survive capture; "" marks a
	// harmless look-alike, which must be stored exactly as given.
	Secret string
}

// IsSecret reports whether v carries a secret.
func (v Value) IsSecret() bool { return v.Secret != "" }

// Values returns the corpus: more than 60 secret-bearing inputs, secret
// by value (URL user info and credential query parameters, libpq
// password=, Authorization headers, bearer and basic credentials, token
// shapes) or by name (password, secret, token, api-key...), and more than
// 30 harmless look-alikes (token_count, max_tokens, a git commit hash, a
// UUID, a sha256, a path, a URL without a password, quotes, backslashes
// and control characters).
func Values() []Value {
	jwt := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	awsSecret := "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	secretByValue := []Value{
		{"", "postgres://user:S3cretPW@host/x", "S3cretPW"},
		{"", "postgresql://u:pw%40Xy9z@h:5432/db?sslmode=disable", "pw%40Xy9z"},
		{"", "mongodb+srv://alice:Mng0Pass@cluster0.example.net/db", "Mng0Pass"},
		{"", "mysql://root:MyS3cr3t@127.0.0.1:3306/app", "MyS3cr3t"},
		{"", "redis://:R3disPass@cache:6379/0", "R3disPass"},
		{"", "amqp://guest:AmqpPw99@rabbit:5672/", "AmqpPw99"},
		{"", "https://user:HttpPw77@example.com/private", "HttpPw77"},
		{"", "postgres://h/db?password=qsPW1234", "qsPW1234"},
		{"", "https://api.example.com/v1?api_key=QKey12345&x=1", "QKey12345"},
		{"", "https://example.com/cb?access_token=AccTok987654", "AccTok987654"},
		{"", "s3://bucket/x?secret=S3Secr3tVal", "S3Secr3tVal"},
		{"", "jdbc:postgresql://h/db;user=u;password=JdbcPw42", "JdbcPw42"},
		{"", "host=h user=u password=libpqPW dbname=d", "libpqPW"},
		{"", "host=h password='quoted Pw5' dbname=d", "quoted Pw5"},
		{"", "dbname=x sslpassword=SslPw123", "SslPw123"},
		{"", "Authorization: Bearer abcDEF123456ghi", "abcDEF123456ghi"},
		{"", "Bearer " + jwt, "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV"},
		{"", "Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"},
		{"", "basic YWxpY2U6aHVudGVyMg==", "YWxpY2U6aHVudGVyMg"},
		{"", "Authorization: token Tok3nValue99", "Tok3nValue99"},
		{"", "ghp_0123456789abcdefghijABCDEFGHIJ012345", "ghp_0123456789abcdefghij"},
		{"", "gho_16C7e42F292c6912E7710c838347Ae178B4a", "16C7e42F292c6912E7710c"},
		{"", "ghu_16C7e42F292c6912E7710c838347Ae178B4b", "16C7e42F292c6912E7710c"},
		{"", "ghs_16C7e42F292c6912E7710c838347Ae178B4c", "16C7e42F292c6912E7710c"},
		{"", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "11ABCDEFG0123456789_abcdef"},
		{"", "https://ghp_0123456789abcdefghijABCDEFGHIJ012345@github.com/o/r.git", "ghp_0123456789abcdefghij"},
		{"", "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"},
		{"", "xoxp-1234567890-1234567890123-1234567890123-0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"},
		{"", "xoxa-2-1234567890-abcdefABCDEF", "abcdefABCDEF"},
		{"", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "XXXXXXXXXXXXXXXXXXXXXXXX"},
		{"", "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"},
		{"", "AKIAIOSFODNN7EXAMPLE " + awsSecret, awsSecret},
		{"", "aws_secret_access_key=" + awsSecret, awsSecret},
		{"", "sk-proj-abcdefghijklmnop1234567890", "abcdefghijklmnop1234567890"},
		{"", "sk-ant-api03-abcdefghijklmnopqrstu", "abcdefghijklmnopqrstu"},
		{"", "sk-abcdefghijklmnopqrstuvwxyz123456", "abcdefghijklmnopqrstuvwxyz123456"},
		{"", "sk_live_51Habcdefghijklmnop", "51Habcdefghijklmnop"},
		{"", jwt, "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV"},
		{"", "glpat-abcdefghijklmnopqrst", "abcdefghijklmnopqrst"},
		{"", "hf_abcdefghijklmnopqrstuvwxyzABCDEF", "abcdefghijklmnopqrstuvwxyzABCDEF"},
		{"", "npm_abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz0123456789"},
		{"", "AIzaSyA-abcdefghijklmnopqrstuvwxyz12345", "SyA-abcdefghijklmnopqrstuvwxyz12345"},
		{"", "password=plainPW99", "plainPW99"},
		{"", `{"api_key": "JsonKey777"}`, "JsonKey777"},
		{"", "token: YamlTok888", "YamlTok888"},
		{"", "DB_PASSWORD=EnvStylePw", "EnvStylePw"},
		{"", "main.apiKey=LdKey555", "LdKey555"},
		{"", "my_password=MyPw2026", "MyPw2026"},
	}
	secretByName := []Value{
		{"password", "hunter2xyz", "hunter2xyz"},
		{"passwd", "cliPW", "cliPW"},
		{"db-password", "DbPw1", "DbPw1"},
		{"secret", "topsecretvalue", "topsecretvalue"},
		{"client_secret", "ClSec", "ClSec"},
		{"token", "abcToken", "abcToken"},
		{"api-key", "ApiK1", "ApiK1"},
		{"apikey", "ApiK2", "ApiK2"},
		{"api_key", "ApiK3", "ApiK3"},
		{"apiKey", "ApiK4", "ApiK4"},
		{"APIKey", "ApiK5", "ApiK5"},
		{"credential", "Cred1", "Cred1"},
		{"credentials", "Cred2", "Cred2"},
		{"private-key", "PrivK", "PrivK"},
		{"PRIVATE_KEY", "PrivK2", "PrivK2"},
		{"hf_token", "HfT1", "HfT1"},
		{"GITHUB_TOKEN", "GhT1", "GhT1"},
		{"AWS_SECRET_ACCESS_KEY", "AwsS1", "AwsS1"},
		{"WANDB_API_KEY", "WbK1", "WbK1"},
		{"PGPASSWORD", "PgP1", "PgP1"},
		{"passphrase", "Pp1word", "Pp1word"},
		{"access_token", "AcT1", "AcT1"},
		{"refresh-token", "RfT1", "RfT1"},
		{"dsn", "postgres://u:DsnPw@h/x", "DsnPw"},
		{"session_cookie", "Ck1", "Ck1"},
		{"signing_key", "SgK1", "SgK1"},
		{"authToken", "AuT1", "AuT1"},
		{"secret", `quote"back\slash`, `quote"back\slash`},
		{"password", "tab\tand\nnewline", "tab\tand\nnewline"},
	}
	harmless := []Value{
		{"token_count", "512", ""},
		{"max_tokens", "4096", ""},
		{"max_token_length", "128", ""},
		{"tokens_per_second", "1000", ""},
		{"tokenizer", "bpe", ""},
		{"keyboard", "us", ""},
		{"monkey", "patch", ""},
		{"hotkey", "ctrl+s", ""},
		{"key", "value", ""},
		{"num_keys", "10", ""},
		{"password_file", "/run/secrets/db_password", ""},
		{"password_length", "12", ""},
		{"secret_name", "prod-db", ""},
		{"passwordless", "true", ""},
		{"commit", "3f9a1c2e8b7d6f5a4c3b2a1908f7e6d5c4b3a291", ""},
		{"uuid", "123e4567-e89b-12d3-a456-426614174000", ""},
		{"sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ""},
		{"data", "/home/alice/data/train-00001.tfrecord", ""},
		{"url", "https://github.com/recordlab/go-record/tree/main", ""},
		{"dsn", "postgres://alice@db:5432/experiments?sslmode=disable", ""},
		{"mongo", "mongodb://h1:27017,h2:27017/x?replicaSet=rs0", ""},
		{"remote", "git@github.com:recordlab/go-record.git", ""},
		{"author", "alice@example.com", ""},
		{"lr", "1e-3", ""},
		{"desc", "the password is required", ""},
		{"note", "basic statistics of the run", ""},
		{"note", "bearer of good news", ""},
		{"model", "scikit-learn", ""},
		{"task", "risk-assessment-model-v2-abcdefghijklmnop", ""},
		{"started", "2026-11-26T12:00:00Z", ""},
		{"ratio", "key: 0.5, token count 3", ""},
		{"text", `he said "hi" \ back\slash`, ""},
		{"text", "tab\there\nnewline\x01", ""},
		{"text", "loss=0.73 lr=1e-3 epochs=10 max_tokens=512", ""},
		{"hash", "0123456789abcdef0123456789abcdef01234567", ""},
		{"b64", "aGVsbG8gd29ybGQ=", ""},
		{"emoji", "🚀 ünïcödé", ""},
		{"nan", "NaN", ""},
		{"inf", "-Inf", ""},
		{"big", "1.7976931348623157e+308", ""},
	}
	out := append(secretByValue, secretByName...)
	return append(out, harmless...)
}

// EnvName turns a corpus name into an environment variable name.
func EnvName(name string) string {
	return strings.NewReplacer("-", "_").Replace(name)
}
