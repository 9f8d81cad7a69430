"""Webhooks for integrators (Standard Webhooks v1): endpoints, signing, the SSRF guard, the dispatcher."""
