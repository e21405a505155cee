"""What the program earns: lifecycle stages of members and the KPIs marketers read."""
