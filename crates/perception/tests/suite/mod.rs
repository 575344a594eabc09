mod accessibility;
mod capture;
