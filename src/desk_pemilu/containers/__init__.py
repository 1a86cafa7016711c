"""The desk in containers: which engine runs them, the images, and the compose desk."""
