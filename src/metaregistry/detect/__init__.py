"""metaregistry.detect"""
