"""Analytics: the dashboard's figures and map, within what each user may see."""
