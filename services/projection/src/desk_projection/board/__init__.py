"""The situation room in the browser: the board page, its live feed (Server-Sent Events), and the
files it needs, all served by the projection (which owns the read models), none from the internet."""
