"""The applicant side: the public form, its API, uploads, SMS codes and signature."""
