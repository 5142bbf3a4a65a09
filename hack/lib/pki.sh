# Certificates for a local cluster (sourced by hack/cluster.sh): one CA, the API server's
# serving cert, a client cert per component, and the service-account key pair.
# EC P-256 keys: generated in milliseconds.

# pki_init DIR SAN...   (SANs as openssl subjectAltName items, e.g. IP:10.96.0.1)
pki_init() {
  local dir="$1"; shift
  mkdir -p "$dir"
  if [ ! -f "$dir/ca.crt" ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$dir/ca.key" -subj "/CN=knpy-local-ca" -days 3650 \
      -out "$dir/ca.crt" 2>/dev/null
  fi
  if [ ! -f "$dir/sa.key" ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/sa.key" 2>/dev/null
    openssl ec -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  fi
  local san
  san="$(IFS=,; echo "$*")"
  pki_cert "$dir" apiserver "kube-apiserver" "" "$san" serverAuth
}

# pki_cert DIR NAME CN O [SAN] [EKU]
pki_cert() {
  local dir="$1" name="$2" cn="$3" org="$4" san="${5:-}" eku="${6:-clientAuth}"
  [ -f "$dir/$name.crt" ] && return 0
  local subj="/CN=$cn"
  [ -n "$org" ] && subj="/O=$org$subj"
  local ext="$dir/$name.ext"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$ext"
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$name.key" 2>/dev/null
  openssl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 3650 -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$ext"
}

# kubeconfig_write FILE SERVER CA CERT KEY
kubeconfig_write() {
  local file="$1" server="$2" ca="$3" cert="$4" key="$5"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: knpy
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$ca")
users:
- name: knpy
  user:
    client-certificate-data: $(base64 -w0 <"$cert")
    client-key-data: $(base64 -w0 <"$key")
contexts:
- name: knpy
  context: {cluster: knpy, user: knpy}
current-context: knpy
EOF
}
