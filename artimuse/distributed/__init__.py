"""Scale out on Ray: datasets on Ray Data (`data`), the REST service on Ray Serve (`serve`)."""
