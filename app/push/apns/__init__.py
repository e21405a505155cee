"""The APNs channel: HTTP/2 client, its connections and provider tokens."""
