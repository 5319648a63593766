"""The FastAPI front door: submit and read tasks."""
