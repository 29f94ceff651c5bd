"""`make bench`: the service measured against bare Litestar and Strawberry ceilings (issue 7)."""
