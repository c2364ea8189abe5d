"""``classmood app``: serve the teacher's web app (Streamlit + streamlit-webrtc) behind a password."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("app")(serve)


def serve(
    host: str = typer.Option("127.0.0.1", envvar="CLASSMOOD_APP_HOST",
                             help="Address to bind; the default serves this computer only. "
                                  "Use 0.0.0.0 to serve the LAN."),
    port: int = typer.Option(8501, min=1, max=65535, envvar="CLASSMOOD_APP_PORT", help="TCP port."),
    max_upload_mb: int = typer.Option(None, help="Largest upload in MB (default: the Settings value, 200)."),
    ssl_cert: Path = typer.Option(None, envvar="CLASSMOOD_APP_SSL_CERT",
                                  help="PEM certificate: serve HTTPS. Browsers allow the camera and screen "
                                       "sharing only on https:// or on localhost, so the LAN needs this."),
    ssl_key: Path = typer.Option(None, envvar="CLASSMOOD_APP_SSL_KEY", help="PEM private key of --ssl-cert."),
    allowed_host: list[str] = typer.Option(None, "--allowed-host",
                                           help="Another host name the app may be opened by (repeatable); "
                                                "localhost, 127.0.0.1, [::1] and the bound address always work."),
) -> None:
    """Serve the teacher's class view: Live, Recorded, History and Settings pages.

    The first visit asks to choose a password unless CLASSMOOD_APP_PASSWORD is set; it is stored
    hashed (argon2). GET /health answers without a password, for monitors and Docker.
    """
    import importlib.util

    # look, do not import: importing streamlit-webrtc outside a Streamlit run prints warnings
    if any(importlib.util.find_spec(name) is None for name in ("streamlit", "streamlit_webrtc", "argon2")):
        _fail("the web app needs its extra: pip install 'classmood[app]'")
    from classmood.app.config import AppSettings

    if (ssl_cert is None) != (ssl_key is None):
        _fail("give both --ssl-cert and --ssl-key, or neither")
    for tls_file in (ssl_cert, ssl_key):
        if tls_file is not None and not tls_file.is_file():
            _fail(f"{tls_file}: no such file")
    _check_port_free(host, port)
    _store_password_from_env()
    settings = AppSettings.load()
    server = Path(__file__).resolve().parent.parent / "app" / "server.py"
    args = [
        "streamlit", "run", str(server),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--server.maxUploadSize", str(max_upload_mb or settings.max_upload_mb),
        # Streamlit's own checks, consistent with the app's guard (which refuses foreign hosts and origins
        # first); a fixed browser.serverAddress keeps Streamlit from looking up this machine's external IP
        "--server.enableCORS", "true",
        "--server.enableXsrfProtection", "true",
        "--browser.serverAddress", "localhost" if host in ("0.0.0.0", "::", "") else host,
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        "--client.showErrorDetails", "false",
        "--theme.primaryColor", "#4f46e5",
    ]
    hosts = _allowed_hosts(host, allowed_host or [])
    for name in hosts:
        args += ["--server.allowedHosts", name]
    if ssl_cert is not None:
        args += ["--server.sslCertFile", str(ssl_cert.resolve()), "--server.sslKeyFile", str(ssl_key.resolve())]
    import os
    import sys

    # A fresh interpreter (exec, so signals reach Streamlit directly): Streamlit must create its
    # runtime before any component is declared, which an in-process start does not guarantee.
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", CLASSMOOD_APP_HOST=host,
               CLASSMOOD_APP_ALLOWED_HOSTS=",".join(hosts))
    try:
        os.execvpe(sys.executable, [sys.executable, "-m", *args], env)
    except OSError as exc:
        _fail(f"cannot start Streamlit: {exc}")


def _allowed_hosts(host: str, extra: list[str]) -> list[str]:
    """Host names the app answers to besides its own addresses (the guard adds the rest)."""
    names = ["localhost", "127.0.0.1", "::1", *(h.strip().strip("[]") for h in extra)]
    if host not in ("0.0.0.0", "::", ""):
        names.append(host.strip("[]"))
    return list(dict.fromkeys(n for n in names if n))


def _store_password_from_env() -> None:
    """Hash ``$CLASSMOOD_APP_PASSWORD`` now and leave it out of the server's environment."""
    from classmood.app import auth

    try:
        auth.apply_password_from_env()  # removes it from os.environ, which the server inherits
    except auth.PasswordError as exc:
        _fail(f"{auth.PASSWORD_ENV}: {exc}")


def _check_port_free(host: str, port: int) -> None:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        _fail(f"cannot bind to {host}: unknown address")
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            _fail(f"cannot listen on {host}:{port} ({exc.strerror or exc}); is another app using it? Try --port")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
