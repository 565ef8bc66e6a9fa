"""The one-stop desk and dispatcher console: server-rendered shells + plain-JS modules over the JSON API."""
