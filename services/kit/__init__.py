"""Shared service kit: settings, logging, metrics, database, health, errors, shutdown.

Written once and used by product-api, order-api and frontend.
"""
