#!/bin/bash
# Copied from the shared benchmark material so the benchmark needs nothing outside the repo.
# A fixed-response nginx on 127.0.0.1:47090 for timing journey runners side by side: the server is never the bottleneck.
# Added here: /session sets a fresh session cookie on every request (sid=$request_id) and /me
# answers 401 without one, for the watch benchmark's cookie-capturing journey.
S=${BENCH_STATE:-${TMPDIR:-/tmp}/allclear-bench-target}
case "${1:-up}" in
  up) mkdir -p "$S/tmp"
cat > "$S/nginx.conf" <<NG
pid $S/nginx.pid; error_log $S/error.log; worker_processes 1;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path "$S/tmp"; proxy_temp_path $S/tmp; fastcgi_temp_path $S/tmp; uwsgi_temp_path $S/tmp; scgi_temp_path $S/tmp;
  keepalive_requests 100000;
  server { listen 127.0.0.1:47090; default_type application/json;
    location = /login { add_header Set-Cookie "sid=abc123; Path=/; HttpOnly"; return 200 '{"user":"alice"}'; }
    location = /cart/total { if (\$http_cookie !~ "sid=abc123") { return 401 '{"error":"login required"}'; } return 200 '{"user":"alice","total_cents":1200}'; }
    location = /search { return 200 '{"query":"teapot","count":2,"results":[{"id":10,"name":"Product 10 teapot"},{"id":20,"name":"Product 20 teapot"}]}'; }
    location ~ ^/products/[0-9]+$ { return 200 '{"id":10,"name":"Product 10 teapot","price_cents":1000}'; }
    location = /session { add_header Set-Cookie "sid=\$request_id; Path=/; HttpOnly"; return 200 '{"ok":true}'; }
    location = /me { if (\$http_cookie !~ "sid=[0-9a-f]{32}") { return 401 '{"error":"no session"}'; } return 200 '{"user":"alice","signed_in":true}'; }
    location = / { default_type text/html; return 200 '<html><h1>Corner Shop</h1><p>build v41</p></html>'; }
  } }
NG
  nginx -c "$S/nginx.conf" ;;
  down) nginx -c "$S/nginx.conf" -s stop ;;
esac
