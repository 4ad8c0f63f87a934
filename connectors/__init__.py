"""Everything that speaks to a provider: Gmail, Google Calendar, Microsoft Graph, OAuth,
token storage, and the local provider sandbox."""
