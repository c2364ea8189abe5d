"""The teacher's web app: a password-gated Streamlit app with live WebRTC video.

Modules: ``config`` (where the app keeps its files, ICE servers, settings),
``auth`` (hashed password, signed session cookie), ``server`` (the ASGI app: login
gate, health endpoint, Streamlit), ``main`` (the Streamlit navigation) and ``views/``
(one module per page).
"""
