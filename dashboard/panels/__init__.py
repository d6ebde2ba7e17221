"""../dashboard/panels"""
